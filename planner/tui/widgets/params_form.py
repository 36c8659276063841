"""A form of a lab's hyperparameters: each with its default, bounds and help, checked as you type.

Each field is validated on its own through the lab's pydantic `Params` (via `Lab.validate_params`),
so a bad value is named under its input before anything runs; `ParamsForm.values()` returns the raw
strings (a choice as its Literal member) for the service, which validates the whole set again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

if TYPE_CHECKING:
    from labs.catalog.base import Lab, ParamSpec  # loaded with the lab screen, which imports the catalogue


def field_error(lab: Lab, name: str, raw: str) -> str | None:
    """The message for one bad value (without the 'lab x:' prefix), or None when it is valid."""
    from labs.catalog import ParamError

    if raw.strip() == "":
        return f"{name} needs a value"
    try:
        lab.validate_params({name: raw.strip()})
    except ParamError as exc:
        return str(exc).split(": ", 1)[-1]
    return None


def choice_value(lab: Lab, name: str, text: str) -> Any:
    """The member of a choice parameter's Literal whose text is `text` (3 for '3' in Literal[1, 3, 5]).

    The catalogue lists choices as text, but its validation accepts only the Literal's own members,
    so a numeric choice sent as text would be refused; a text choice comes back unchanged.
    """
    from typing import get_args

    field = lab.Params.model_fields.get(name)
    for member in get_args(field.annotation) if field is not None else ():
        if str(member) == text:
            return member
    return text


class ParamField(Vertical):
    """One hyperparameter: 'lr  (> 0 and <= 10)', an input, its help, and its error if any."""

    def __init__(self, lab: Lab, spec: ParamSpec, value: Any = None) -> None:
        super().__init__(id=f"field-{spec.name}")
        self.lab, self.spec = lab, spec
        self.initial = spec.default if value is None else value

    def compose(self) -> ComposeResult:
        spec = self.spec
        yield Label(f"[b]{spec.name}[/]  [dim]{spec.bounds_text()}[/]")
        self.control: Select[str] | Input
        if spec.choices:
            self.control = Select([(c, c) for c in spec.choices], value=str(self.initial), allow_blank=False,
                                  id=f"param-{spec.name}", compact=True)
        else:
            self.control = Input(_text(self.initial), id=f"param-{spec.name}", compact=True)
        yield self.control
        if spec.description:
            yield Static(spec.description, classes="param-help")
        yield Static(classes="param-error")

    @property
    def raw(self) -> str:
        return str(self.control.value)

    @property
    def value(self) -> Any:
        """What the service gets: the text typed, or for a choice the Literal member it names."""
        if self.spec.choices:
            return choice_value(self.lab, self.spec.name, self.raw)
        return self.raw.strip()

    def check(self) -> str | None:
        """Validate the current value, show the error under the input, and return it."""
        error = None if self.spec.choices else field_error(self.lab, self.spec.name, self.raw)
        self.query_one(".param-error", Static).update(error or "")
        self.control.set_class(error is not None, "-invalid")
        return error

    def reset(self) -> None:
        self.control.value = str(self.spec.default) if self.spec.choices else _text(self.spec.default)
        self.check()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class ParamsForm(Widget):
    """Every hyperparameter of a lab; `errors()` and `values()` read the whole form."""

    DEFAULT_CSS = "ParamsForm { height: auto; }"

    def __init__(self, lab: Lab, values: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lab = lab
        self.initial = values or {}

    def compose(self) -> ComposeResult:
        for spec in self.lab.param_specs():
            yield ParamField(self.lab, spec, self.initial.get(spec.name))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        for field in event.control.ancestors:
            if isinstance(field, ParamField):
                field.check()
                break

    def errors(self) -> dict[str, str]:
        """Check every field; {name: message} for the bad ones."""
        out = {}
        for field in self.query(ParamField):
            error = field.check()
            if error:
                out[field.spec.name] = error
        return out

    def values(self) -> dict[str, Any]:
        return {field.spec.name: field.value for field in self.query(ParamField)}

    def reset(self) -> None:
        for field in self.query(ParamField):
            field.reset()
