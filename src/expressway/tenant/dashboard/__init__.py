"""The tenant's dashboard at ``/dashboard``: server-rendered pages over the tenant's services."""
