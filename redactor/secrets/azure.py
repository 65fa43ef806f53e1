"""The documented import path; the implementation lives in ``redactor.sources.scopes.azure``."""

from redactor.sources.scopes.azure import (
    BACKEND_AZURE_KEYVAULT,
    ENV_CA_BUNDLE,
    ENV_CACHE_TTL,
    ENV_VERIFY_CHALLENGE_RESOURCE,
    AzureKeyVaultBackend,
    KeyVaultScope,
    clear_cache,
    configure,
    keyvault_name,
    validate_vault_url,
)

__all__ = [
    "BACKEND_AZURE_KEYVAULT",
    "ENV_CACHE_TTL",
    "ENV_CA_BUNDLE",
    "ENV_VERIFY_CHALLENGE_RESOURCE",
    "AzureKeyVaultBackend",
    "KeyVaultScope",
    "clear_cache",
    "configure",
    "keyvault_name",
    "validate_vault_url",
]
