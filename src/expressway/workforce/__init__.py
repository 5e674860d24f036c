"""The workforce IdP: the customer's enterprise IdP (Okta-like) and the OIN catalog and wizard.

Does: host orgs under ``/orgs/{org}``, each with its users, groups, app instances, assignments,
``SSWS`` API tokens, System Log and signing keys; serve each org's Okta admin API
(:mod:`~expressway.workforce.admin_api`) and OpenID provider (:mod:`~expressway.workforce.oidc`).
Does not: import anything of the tenant; it meets the tenant only over HTTP.

Layers, each importing only those below it: ``app`` and ``cli`` → ``admin_api`` / ``oidc`` (HTTP,
Okta's shapes) → ``services`` (domain rules on a Session; they flush, never commit) → ``rows``,
``expressions``, ``system_log``, ``signing``, ``errors``.
"""
