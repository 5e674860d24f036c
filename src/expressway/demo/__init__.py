"""``expressway demo``: the three services on one machine and the support case told end to end.

- ``servers.py`` runs the tenant, the workforce IdP and the sample app in this process, each on
  its own port;
- ``browser.py`` is a scripted person at a browser: follows redirects, keeps cookies, fills the
  forms shown;
- ``story.py`` seeds the support case over the services' own APIs and plays the story.

The demo talks to the services only over HTTP, as a vendor's developer and a customer's admin
would; the one exception is its own credentials (a Management API client and an ``SSWS`` token),
which it rotates in process at each start since it keeps no secret between runs.
"""
