"""LDAP as the identity provider of `policyengine consumers sync`: users and groups read from a
directory (OpenLDAP, Active Directory) and shaped as SCIM resources, so one mapping and one sync
(`directory_sync.sync_scim`) serve both sources.

The mapping file's `ldap:` section says where and how to read (the bind password comes from an
environment variable, never from a file):

    ldap:
      url: ldap://127.0.0.1:389
      bind_dn: cn=reader,dc=example,dc=com
      password_env: POLICYENGINE_LDAP_PASSWORD
      users: {base: "ou=people,dc=example,dc=com", filter: "(objectClass=inetOrgPerson)"}
      groups: {base: "ou=groups,dc=example,dc=com", filter: "(objectClass=groupOfNames)"}

A user becomes `{"id": its DN, "active": true, ATTRIBUTE: first value, ...}`: the mapping's `id`
and attribute paths name LDAP attributes (`uid`, `mail`, `l`, `employeeNumber`). A group becomes
`{"displayName": its cn, "members": [{"value": member DN}]}` (`member`/`uniqueMember` DNs, or
`memberUid` names matched against the users' `uid`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from policyengine.yamlsource import YamlError

_LDAP_KEYS = ("url", "bind_dn", "password_env", "users", "groups")


def ldap_settings(value: object, source: str) -> dict[str, Any]:
    """The `ldap:` section of a mapping file, checked (a YamlError naming the file otherwise)."""
    if not isinstance(value, Mapping):
        raise YamlError("'ldap' must be a mapping (url, bind_dn, password_env, users, groups)", source)
    unknown = [k for k in value if k not in _LDAP_KEYS]
    if unknown:
        raise YamlError(f"unknown key '{unknown[0]}' in 'ldap' (known: {', '.join(_LDAP_KEYS)})", source)
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("ldap://", "ldaps://")):
        raise YamlError("'ldap.url' must be an ldap:// or ldaps:// URL", source)
    for part in ("users", "groups"):
        section = value.get(part)
        if section is not None and not (isinstance(section, Mapping) and isinstance(section.get("base"), str)):
            raise YamlError(f"'ldap.{part}' needs a 'base' DN (and an optional 'filter')", source)
    if value.get("users") is None:
        raise YamlError("'ldap.users' is missing", source)
    return dict(value)


def read_ldap(settings: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(users, groups) as SCIM-shaped resources. Connection and bind failures raise a YamlError
    naming the URL and the failure's kind (never the password)."""
    try:
        import ldap3
        from ldap3.core.exceptions import LDAPException
    except ImportError:
        raise YamlError("--ldap needs the LDAP client: pip install 'datamesh-policyengine[ldap]'") from None

    password = None
    if settings.get("password_env"):
        password = os.environ.get(str(settings["password_env"]))
        if password is None:
            raise YamlError(f"the LDAP password variable ${settings['password_env']} is not set")
    try:
        server = ldap3.Server(str(settings["url"]), connect_timeout=10)
        conn = ldap3.Connection(server, user=settings.get("bind_dn"), password=password, auto_bind=True,
                                receive_timeout=30, read_only=True)
    except LDAPException as exc:
        raise YamlError(f"cannot bind to {settings['url']}: {type(exc).__name__}") from None
    try:
        users = _search(conn, settings["users"], "(objectClass=*)")
        groups = _search(conn, settings["groups"], "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)"
                                                   "(objectClass=posixGroup))") if settings.get("groups") else []
    except LDAPException as exc:
        raise YamlError(f"cannot search {settings['url']}: {type(exc).__name__}") from None
    finally:
        conn.unbind()
    by_uid = {u["uid"]: u["id"] for u in users if isinstance(u.get("uid"), str)}
    out_groups = []
    for g in groups:
        members = [*_list(g.get("member")), *_list(g.get("uniqueMember"))]
        members += [by_uid[m] for m in _list(g.get("memberUid")) if m in by_uid]
        out_groups.append({"displayName": g.get("cn"), "members": [{"value": m} for m in members]})
    return users, out_groups


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _search(conn: Any, section: Mapping[str, Any], default_filter: str) -> list[dict[str, Any]]:
    import ldap3

    conn.search(str(section["base"]), str(section.get("filter") or default_filter),
                search_scope=ldap3.SUBTREE, attributes=[ldap3.ALL_ATTRIBUTES], paged_size=500)
    out = []
    for entry in conn.entries:
        attrs = entry.entry_attributes_as_dict
        resource: dict[str, Any] = {"id": entry.entry_dn, "active": True}
        for name, values in attrs.items():
            if name in ("member", "uniqueMember", "memberUid"):
                resource[name] = [str(v) for v in values]
            elif values:
                resource[name] = values[0] if not isinstance(values[0], bytes) else None
        out.append(resource)
    return out
