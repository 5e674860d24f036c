"""Every route of the console, in one router for the application."""

from fastapi import APIRouter

from expressway.workforce.console import (
    applications,
    auth,
    directory,
    express_configure,
    group_push,
    oin,
    reports,
)

console_router = APIRouter()
for _module in (auth, directory, applications, group_push, oin, reports, express_configure):
    console_router.include_router(_module.router)
