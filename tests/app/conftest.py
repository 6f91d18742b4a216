"""The real-registry fixtures (tests/registry.py) for the tests in this folder."""

from tests.registry import auth_registry, docker_config, registry  # noqa: F401
