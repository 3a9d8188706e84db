# The host-built wheelhouse as an image, so the main build takes it with COPY --from (WHEELS=this image)
# without sending a gigabyte of wheels as build context on every build.
#   docker build -t deepwell/wheelhouse:local -f docker/Wheelhouse.Dockerfile .cache/wheelhouse
FROM scratch
COPY . /wheels
