#!/bin/sh
# Run by the image's entrypoint before nginx starts: the HTTP server's socket (behind the
# stream front) may be left over from an nginx that was killed, and nginx cannot bind a
# socket file that exists.
rm -f -- "${GATEWAY_HTTP_SOCKET:?}"
