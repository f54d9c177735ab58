"""The development key pair's PUBLIC half: the default `JWT_PUBLIC_KEY`.

Its private half is identity's default signing key. Both are public (they are in this
repository), so `ENVIRONMENT=production` refuses to start with either of them.
"""

from __future__ import annotations

from typing import Final

DEV_JWT_PUBLIC_KEY: Final = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAvwFaWRu02NT3c4iOGzhsw4hOgDgkF4szM49icjxkYd8=
-----END PUBLIC KEY-----
"""
