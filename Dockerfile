# One image for the operator, the REST facade and the run executor (different commands).
#
# Locally (no registry), hack/stack builds it FROM a debootstrapped Debian base with the
# dependencies from a host-built wheelhouse:
#   --build-arg BASE_IMAGE=localhost/almanac-base:... \
#   --build-arg PIP_INSTALL_ARGS="--no-index --find-links=/wheels"
# Elsewhere `docker build .` uses the defaults below and installs from PyPI.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG PIP_INSTALL_ARGS=""
COPY wheelhouse/ /wheels/
COPY pyproject.toml README.md /src/
# Dependencies first, read from pyproject.toml, so a code change rebuilds only the last layer.
# hadolint ignore=DL3013
RUN python3 -m venv /opt/almanac \
 && python3 -c 'import tomllib; p = tomllib.load(open("/src/pyproject.toml", "rb"))["project"]; \
print("\n".join(p["dependencies"] + p["optional-dependencies"]["runtime"]))' > /tmp/req.txt \
 && /opt/almanac/bin/pip install --no-cache-dir --disable-pip-version-check \
      ${PIP_INSTALL_ARGS} -r /tmp/req.txt setuptools wheel
COPY almanac/ /src/almanac/
RUN /opt/almanac/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps \
      --no-build-isolation ${PIP_INSTALL_ARGS} /src \
 && /opt/almanac/bin/pip uninstall -y --disable-pip-version-check pip setuptools wheel

FROM ${BASE_IMAGE}
# A fixed non-root user; run pods also set runAsUser 10001 and a read-only root filesystem.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /tmp \
      --shell /usr/sbin/nologin almanac
COPY --from=build /opt/almanac /opt/almanac
ENV PATH=/opt/almanac/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
ENTRYPOINT ["almanac"]
CMD ["--help"]
