"""Every endpoint of an org's OpenID provider, in one router for the application."""

from fastapi import APIRouter

from expressway.workforce.oidc import authorize, discovery, logout, token, userinfo

oidc_router = APIRouter()
for _module in (discovery, authorize, token, userinfo, logout):
    oidc_router.include_router(_module.router)
