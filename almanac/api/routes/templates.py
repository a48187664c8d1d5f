"""``/templates``: the payload types the caller may use, with their parameter schemas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from almanac.api.dependencies import Caller, Service
from almanac.api.routes import examples
from almanac.api.routes.common import ERRORS, success
from almanac.api.schemas import ListMeta, Template, TemplateList

__all__ = ["router"]

router = APIRouter(tags=["templates"], responses=ERRORS)


@router.get(
    "/templates",
    summary="List payload types",
    operation_id="listTemplates",
    responses=success(200, "Every payload type the caller may use.", examples.TEMPLATE_LIST),
)
async def list_templates(who: Caller, service: Service) -> TemplateList:
    found = await service.catalog.list(await service.namespace(who))
    return TemplateList(data=found, meta=ListMeta(count=len(found), limit=len(found), offset=0))


@router.get(
    "/templates/{name}",
    summary="Get a payload type and its parameter schema",
    operation_id="getTemplate",
    responses=success(200, "The payload type.", examples.TEMPLATE),
)
async def get_template(
    name: Annotated[str, Path(max_length=253)], who: Caller, service: Service
) -> Template:
    return await service.catalog.get(await service.namespace(who), name)
