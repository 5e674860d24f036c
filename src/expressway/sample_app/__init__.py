"""The sample app: the SaaS vendor's own web app, a relying party of the tenant."""
