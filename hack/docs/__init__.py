"""Generators of the reference pages under ``docs/`` (``python -m hack.docs.generate``).

The REST and CRD references are written from the code (the facade's OpenAPI document, the
CRDs built from the pydantic models) so they cannot drift from it: a unit test fails when a
committed page differs from what the generator writes now.
"""
