"""Who is calling: a bearer token, its organisation and role, and what that role may do.

| role     | read figures, bridges, rounds, figures, verify, report | audit trails | record facts | publish |
|----------|-----|-----|-----|-----|
| reader   | yes | no  | no  | no  |
| recorder | yes | no  | yes (1) | no  |
| auditor  | yes | yes | no  | no  |
| admin    | yes | yes | yes | yes |

(1) A recorder scoped to a registry records registrations, composition changes and
closures of that registry only; every other fact type as an unscoped recorder does.

Every fact a token records carries its organisation as ``recorded_by``; a fact that names
another organisation is refused (403), as is the whole request it came in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ledger.facts import FactInput
from ledger.store.tokens import TokenRecord

Permission = Literal["read", "audit", "record", "publish"]
GRANTS: dict[str, frozenset[Permission]] = {
    "reader": frozenset({"read"}),
    "recorder": frozenset({"read", "record"}),
    "auditor": frozenset({"read", "audit"}),
    "admin": frozenset({"read", "audit", "record", "publish"}),
}
REGISTRY_FACTS = frozenset({"household_registered", "composition_changed", "registration_closed"})
WHAT = {"read": "read figures", "audit": "read audit trails", "record": "record facts",
        "publish": "publish figures"}
WHO = {"read": "any role", "audit": "an auditor or admin token", "record": "a recorder or admin token",
       "publish": "an admin token"}


class Unauthenticated(Exception):  # noqa: N818 - answered as 401, not a ledger error
    pass


class Forbidden(Exception):  # noqa: N818 - answered as 403, not a ledger error
    pass


@dataclass(frozen=True)
class Principal:
    token: TokenRecord

    @property
    def org(self) -> str:
        return self.token.org

    def require(self, permission: Permission) -> None:
        if permission not in GRANTS.get(self.token.role, frozenset()):
            raise Forbidden(f"a {self.token.role} token of {self.org} cannot {WHAT[permission]}; "
                            f"it needs {WHO[permission]}")

    def claim(self, fact: FactInput, where: str) -> FactInput:
        """The fact as this token records it (``recorded_by`` = its organisation), or Forbidden."""
        if fact.recorded_by is not None and fact.recorded_by != self.org:
            raise Forbidden(f"{where}: recorded_by {fact.recorded_by!r} is not this token's "
                            f"organisation {self.org!r}; a token records only as its own organisation")
        scope = self.token.registry
        registry = getattr(fact, "registry", None)
        if scope is not None and fact.type in REGISTRY_FACTS and registry != scope:
            raise Forbidden(f"{where}: this recorder token of {self.org} may record {fact.type} "
                            f"only for the {scope} registry, not {registry}")
        if fact.recorded_by is None:
            return fact.model_copy(update={"recorded_by": self.org})
        return fact
