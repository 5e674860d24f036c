from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from expressway.storage.declarative import TYPE_ANNOTATION_MAP, system_metadata


class TenantBase(DeclarativeBase):
    metadata = system_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


class Timestamps:
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
