"""Resolve the Dynamics connection from config and/or the encrypted credential store.

Shared by the target, the replay command and ``gusto-dynamics connect dynamics``.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gd_vault import Vault, VaultError

from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.fo import (
    DEFAULT_DEADLINE_SECONDS,
    DEFAULT_MAX_RETRIES,
    EntraTokenProvider,
    ODataClient,
)
from target_dynamics_fo.payrolls import APPROVAL_MODES, DATING_MODES, CorrectionPolicy

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"


class SettingsError(ValueError):
    """The target's configuration cannot work; says which setting to change."""


@dataclass(frozen=True)
class DynamicsConnection:
    environment_url: str
    tenant_id: str
    client_id: str
    client_secret: str | None
    certificate_pem: str | None
    certificate_thumbprint: str | None
    authority_host: str
    ca_bundle: str | None

    def __repr__(self) -> str:
        # Never show the secret or the key, even in a traceback's locals.
        return (
            f"DynamicsConnection(environment_url={self.environment_url!r}, "
            f"tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, secret=***)"
        )

    def token_provider(self) -> EntraTokenProvider:
        return EntraTokenProvider(
            self.environment_url,
            self.tenant_id,
            self.client_id,
            client_secret=self.client_secret,
            certificate_pem=self.certificate_pem,
            certificate_thumbprint=self.certificate_thumbprint,
            authority_host=self.authority_host,
            ca_bundle=self.ca_bundle,
        )


def connection_from_config(config: AbcMapping[str, Any]) -> DynamicsConnection:
    """Config values win; missing ones come from the store's ``dynamics.environments.<name>``."""
    stored: dict[str, Any] = {}
    store_path = config.get("credentials_store")
    if store_path:
        name = config.get("dynamics_environment")
        if not name:
            raise SettingsError(
                "credentials_store is set but dynamics_environment is not; set it to the name "
                "used with `gusto-dynamics connect dynamics --name <name>`."
            )
        try:
            data = Vault.open(store_path).read()
        except VaultError as exc:
            raise SettingsError(f"cannot read the credential store {store_path}: {exc}") from exc
        environments = (data.get("dynamics") or {}).get("environments") or {}
        if name not in environments:
            known = ", ".join(sorted(environments)) or "none"
            raise SettingsError(
                f"the credential store {store_path} has no Dynamics environment {name!r} "
                f"(stored: {known}); run `gusto-dynamics connect dynamics --name {name}`."
            )
        stored = dict(environments[name])

    def pick(key: str) -> Any:
        value = config.get(key)
        return value if value not in (None, "") else stored.get(key)

    certificate_pem = stored.get("certificate_pem")
    certificate_path = config.get("certificate_path")
    if certificate_path:
        try:
            certificate_pem = Path(certificate_path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(
                f"cannot read certificate_path {certificate_path} ({exc.strerror})."
            ) from exc
    missing = [k for k in ("environment_url", "tenant_id", "client_id") if not pick(k)]
    if missing:
        raise SettingsError(
            f"missing Dynamics setting(s): {', '.join(missing)}; set them in the target config "
            "or store them with `gusto-dynamics connect dynamics` and set credentials_store + "
            "dynamics_environment."
        )
    secret = pick("client_secret")
    thumbprint = pick("certificate_thumbprint")
    if not secret and not (certificate_pem and thumbprint):
        raise SettingsError(
            "no Dynamics credential: set client_secret, or certificate_path + "
            "certificate_thumbprint (or keep them in the credential store)."
        )
    return DynamicsConnection(
        environment_url=str(pick("environment_url")),
        tenant_id=str(pick("tenant_id")),
        client_id=str(pick("client_id")),
        client_secret=secret,
        certificate_pem=certificate_pem,
        certificate_thumbprint=thumbprint,
        authority_host=str(pick("authority_host") or DEFAULT_AUTHORITY),
        ca_bundle=pick("ca_bundle"),
    )


def build_client(config: AbcMapping[str, Any], audit: AuditStore | None) -> ODataClient:
    connection = connection_from_config(config)
    return ODataClient(
        connection.environment_url,
        connection.token_provider(),
        connection.ca_bundle,
        float(config.get("request_deadline_seconds") or DEFAULT_DEADLINE_SECONDS),
        int(config.get("max_retries") or DEFAULT_MAX_RETRIES),
        audit,
    )


def correction_policy(config: AbcMapping[str, Any]) -> CorrectionPolicy:
    """``corrections_approval`` and ``correction_date`` from the target config, checked."""
    approval = config.get("corrections_approval") or "manual"
    dating = config.get("correction_date") or "check_date"
    if approval not in APPROVAL_MODES:
        raise SettingsError(
            f"corrections_approval {approval!r} must be one of {', '.join(APPROVAL_MODES)}"
        )
    if dating not in DATING_MODES:
        raise SettingsError(f"correction_date {dating!r} must be one of {', '.join(DATING_MODES)}")
    return CorrectionPolicy(approval=approval, dating=dating)
