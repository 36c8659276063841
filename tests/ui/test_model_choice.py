"""The lab form's "your model" (issue 15): a lab that builds on a stored model offers the learner's best
first, and the choice reaches the runner as the worker job's `your_model` ("none": nothing); every lab
shows the models folder's disk use."""

from __future__ import annotations

from typing import Any

import numpy as np

from labs.catalog import get_lab
from labs.catalog._models import write_model
from labs.nn.models import MLP
from planner import checkpoints
from .helpers import SIZE, wait_for
from .scripted import ScriptedRun

GIVEN: list[Any] = []


class ModelRun(ScriptedRun):
    """A scripted run that keeps the `your_model` the service handed its factory."""

    def __init__(self, lab_id: str, params: Any, seed: int, *, your_model: Any = None, models_dir: Any = None):
        super().__init__(lab_id, params, seed)
        GIVEN.append(your_model)


def _stored_model(store: Any, learner: Any) -> str:
    attempt = store.start_attempt(learner.id, "ffnn-digits", "ffnn", mode="explore", params={}, seed=0, pid=None,
                                  app_version="t")
    store.finish_attempt(attempt, status="passed", score=95.0, passed=True, metrics={}, feedback="", checks=[],
                         duration_s=1.0)
    arch = {"kind": "mlp", "sizes": [64, 10]}
    saved = write_model(checkpoints.models_dir(store.path), MLP([64, 10], rng=np.random.default_rng(0)),
                        architecture=arch, tokenizer=None, lab_id="ffnn-digits")
    store.add_checkpoint(attempt, lab_id="ffnn-digits", sha256=saved.sha256, bytes=saved.bytes,
                         architecture=arch, tokenizer=None)
    return saved.sha256


async def test_the_lab_form_offers_your_best_model_and_the_run_receives_it(make, ui_store, ada, monkeypatch):
    from textual.widgets import Select

    sha = _stored_model(ui_store, ada)
    monkeypatch.setattr(type(get_lab("ffnn-digits")), "uses_models", ("ffnn-digits",))
    GIVEN.clear()
    app = make(runner=ModelRun)
    async with app.run_test(size=SIZE) as pilot:
        app.open_lab("ffnn-digits")
        await pilot.pause()
        select = app.screen.query_one("#model-select", Select)
        assert select.value == "best"
        assert "of this lab (" in str(app.screen.query_one("#model-disk").render())
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.live is not None and not app.live.running)
        assert GIVEN[-1]["sha256"] == sha and GIVEN[-1]["architecture"]["kind"] == "mlp"
        select.value = "none"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(GIVEN) == 2 and not app.live.running)
        assert GIVEN[-1] is None



def test_a_lab_without_a_stored_model_offers_none_and_the_disk_line_names_the_commands():
    from planner.checkpoints import LabUse, Listing
    from planner.tui.widgets.model_choice import disk_line, model_options

    lab = type("L", (), {"uses_models": ("modern-lm",), "id": "decoding-sweep"})()
    assert model_options(lab, []) == [("None stored yet: the lab trains its own (run modern-lm to make one)", "none")]
    listing = Listing(folder="f", checkpoints=[], labs=[LabUse(lab_id="decoding-sweep", checkpoints=2, files=1,
                                                                 bytes=2048)], total_bytes=4096, unreferenced_bytes=0)
    assert disk_line("decoding-sweep", listing) == ("[dim]Stored models: 2 of this lab (2.0 KB); 4.0 KB in all "
                                                    "(pathlab checkpoints list | prune).[/]")
