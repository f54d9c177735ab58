"""Testing a Mercato service on its own: a pytest plugin and the pieces it is made of.

The plugin (`mercato_shared.testing.plugin`, loaded in every pytest run of the workspace
by the `pytest11` entry point of this package) gives a service's tests an app client, a
migrated and cleaned database, a cleaned Redis database of the suite's own
(`redis_databases`), tokens signed with the development key (`tokens`) and what fake
upstreams need (`fakes`; `loopback`, which serves them on ports of their own and gives a
typed client under test the session a process uses). A service's tests import only
`mercato_shared` and the service itself: another service they call is faked by its HTTP
contract, never booted.

Needs the workspace's development group (pytest, pytest-asyncio, asgi-lifespan); nothing
in a service's production code imports it.
"""
