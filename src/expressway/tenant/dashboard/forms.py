"""Reading the dashboard's form posts: text fields, lists, check boxes, one small file.

Every value is a string with its length bounded and NUL refused here, before any service sees
it; a problem is a :class:`FormError` naming the field, shown next to it.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import UploadFile
from starlette.requests import Request

#: A form's total size and field count, and one uploaded file's size (a ``.pem`` is ~500 bytes).
MAX_FIELDS = 200
MAX_FILE_BYTES = 16_384
DEFAULT_MAX_LENGTH = 2048


class FormError(Exception):
    """A field holds something the page cannot take; ``field`` is its name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Form:
    """The fields of one POST, each name with its values in order."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def raw(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None

    def text(
        self, name: str, *, required: bool = False, max_length: int = DEFAULT_MAX_LENGTH
    ) -> str | None:
        """The field, stripped; ``None`` when empty (an error if ``required``)."""
        value = (self.raw(name) or "").strip()
        if "\x00" in value:
            raise FormError(name, "contains a NUL character")
        if len(value) > max_length:
            raise FormError(name, f"use at most {max_length} characters")
        if not value:
            if required:
                raise FormError(name, "is required")
            return None
        return value

    def required(self, name: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> str:
        value = self.text(name, required=True, max_length=max_length)
        assert value is not None  # noqa: S101 - required=True raises instead
        return value

    def lines(self, name: str, *, max_items: int = 100) -> list[str]:
        """One value per non-empty line (URLs, domains)."""
        text = self.text(name, max_length=max_items * DEFAULT_MAX_LENGTH) or ""
        items = [line.strip() for line in text.splitlines() if line.strip()]
        if len(items) > max_items:
            raise FormError(name, f"give at most {max_items} lines")
        return items

    def every(self, name: str, *, max_items: int = 100) -> list[str]:
        """All values of a repeated field (check boxes of one name), non-empty, in order."""
        values = [v.strip() for v in self._values.get(name, []) if v.strip()]
        if len(values) > max_items:
            raise FormError(name, f"choose at most {max_items}")
        for value in values:
            if "\x00" in value or len(value) > DEFAULT_MAX_LENGTH:
                raise FormError(name, "holds a value that is not allowed")
        return list(dict.fromkeys(values))

    def flag(self, name: str) -> bool:
        """A check box: present and not "false" means on."""
        return self.raw(name) not in (None, "", "false", "off")

    def choice(self, name: str, allowed: Iterable[str], *, required: bool = True) -> str | None:
        value = self.text(name, required=required, max_length=100)
        options = tuple(allowed)
        if value is not None and value not in options:
            raise FormError(name, f"choose one of {', '.join(options)}")
        return value

    def integer(self, name: str, *, low: int, high: int) -> int | None:
        value = self.text(name, max_length=20)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError as exc:
            raise FormError(name, "must be a whole number") from exc
        if not low <= number <= high:
            raise FormError(name, f"must be between {low} and {high}")
        return number


async def read_form(request: Request) -> Form:
    """The request's form; an uploaded file becomes its text (UTF-8, at most 16 KB)."""
    try:
        posted = await request.form(max_files=2, max_fields=MAX_FIELDS)
    except Exception as exc:  # Starlette raises its own errors for a malformed body
        raise FormError("", "the form could not be read") from exc
    pairs: list[tuple[str, str]] = []
    for name, value in posted.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read(MAX_FILE_BYTES + 1)
            await value.close()
            if len(content) > MAX_FILE_BYTES:
                raise FormError(name, f"the file is larger than {MAX_FILE_BYTES} bytes")
            try:
                pairs.append((name, content.decode()))
            except UnicodeDecodeError as exc:
                raise FormError(name, "the file is not text (a .pem file is)") from exc
        else:
            pairs.append((name, value))
    return Form(pairs)
