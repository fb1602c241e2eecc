"""The cache key function the settings name: every key carries the tenant being served, so
nothing one tenant caches (a page, a fragment, a query result, a throttle counter) can ever
be read by another.
"""

from .context import current_tenant_or_none

# Where Tenant.cache_key keeps the tenants by slug: entries of no tenant.
TENANT_REGISTRY_KEYS = "tenants:"


def tenant_key(key: str, key_prefix: str, version: int) -> str:
    """Django's key layout with the tenant's id after the version; `-` for no tenant.

    Entries about the tenants themselves (which tenant a subdomain names) belong to no
    tenant: resolution reads them before any tenant is known, and a tenant saved while
    another one is served must clear the same entry.
    """
    tenant = None if key.startswith(TENANT_REGISTRY_KEYS) else current_tenant_or_none()
    return f"{key_prefix}:{version}:{'-' if tenant is None else tenant.pk}:{key}"
