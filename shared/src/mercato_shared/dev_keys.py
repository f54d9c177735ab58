"""The development key pair: the default `JWT_PUBLIC_KEY` and identity's default signing key.

Both halves are public (they are in this repository), so `ENVIRONMENT=production` refuses to
start with either of them. The private half is also what `mercato_shared.testing` signs test
tokens with, so a service's tests need no identity.
"""

from __future__ import annotations

from typing import Final

DEV_JWT_PUBLIC_KEY: Final = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAvwFaWRu02NT3c4iOGzhsw4hOgDgkF4szM49icjxkYd8=
-----END PUBLIC KEY-----
"""

DEV_JWT_PRIVATE_KEY: Final = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJnzFtZ4OWXqZHl0RTaCavPDT9PKWuCshCoqcgNmpsav
-----END PRIVATE KEY-----
"""
