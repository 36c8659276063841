"""The help screen: every key of every screen, in one scrollable list (`?` or F1 from anywhere)."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown

from planner.tui.keymap import keymap_path

HELP = """\
# PathLab keys

Every key is also shown in the footer (or on a button) of the screen where it works. **ctrl+p** opens the command
palette: every action below, plus themes and the key panel. The keys shown are yours: a keymap file
(`{keymap_file}`) can move any of them by its id (the last table lists every id).

## Everywhere
| key | does |
|---|---|
| {app.dashboard} | the skill map (dashboard) |
| {app.plan} | roles and plan: readiness, path, projected date; change target role or hours |
| {app.history} | history of lab attempts |
| {app.export} | export a report (Markdown, HTML, JSON, CSV) |
| {app.learners} | switch learner, or add one |
| {app.help} | this help |
| `escape` | back |
| {app.cancel-run} | cancel the lab that is training |
| {app.quit} / `ctrl+q` | quit (while a lab trains, asks first; yes cancels it and records it so) |
| `tab` / `shift+tab` | move between fields and panels |

## Skill map
| key | does |
|---|---|
| `↑` `↓` | graph: along the edges, up to a prerequisite, down to a dependent (back the way you came first); list: through the nodes |
| `←` `→` | graph: to the neighbour in the same layer |
| {map.open-node} | open the node: lesson, quiz and lab |
| {map.toggle-view} | switch between the graph and the list (kept until you quit) |
| {map.next-up} | open the first "next up" node |
| {map.review} | start the most overdue review ("N reviews due": a short quiz draw of a completed node) |

## Node
| key | does |
|---|---|
| `1` `2` `3` | the lesson, quiz and lab tabs |
| {node.start-quiz} | start the quiz |
| {node.open-lab} | open the lab: an experiment with the library's network |
| {node.implement} | the build: write the node's pieces yourself (this completes the node, with its quiz) |

## Quiz
| key | does |
|---|---|
| `↑` `↓` `space` | choose an option (`space` ticks a box in a several-answer question) |
| `enter` | answer (each option is then marked right or wrong, with why), then go to the next question |
| {quiz.leave} | leave the quiz (once you have answered, asks first: a quiz left half done is not recorded) |

## Lab (experiment)
| key | does |
|---|---|
| `tab` | move through the hyperparameters; each is checked as you type |
| {lab.run} | run with these values |
| {lab.cancel-run} | cancel the run |
| {lab.defaults} | reset every value to its default |
| `1`…`4` | after a failed run: answer "What went wrong?" (or click an option) |

## Build (write it yourself)
| key | does |
|---|---|
| {build.write} | write the scaffold into your workspace (asks before replacing your file; the old one is kept as .bak) |
| {build.edit} | open your file in `$VISUAL` / `$EDITOR` (the app waits until the editor exits) |
| {build.grade} | grade your file in the sandbox: structure, values, gradients, then training (its loss drawn live) |
| {build.cancel-grading} | cancel the grading (the points earned so far are recorded) |
| {build.hint} | the next hint |
| {build.watch} | watch the file: grade again on every save (press again to stop) |
| {build.solution} | the reference solution, once your own code passed |

## History
| key | does |
|---|---|
| `enter` | open the attempt: curves and grades |
| {history.mark} | mark an attempt for comparison (mark two) |
| {history.compare} | compare the two marked attempts (of one lab): overlaid curves, hyperparameter diff |
| `1`…`5` | sort by lab, when, score, status |
"""


def help_text(keymap: dict[str, str], keymap_file: str) -> str:
    """HELP with every `{binding id}` replaced by the keys it has now (the keymap's, else its default),
    and a last table of every id for the keymap file."""
    from planner.tui.keymap import key_text, known_bindings

    bindings = known_bindings()
    keys = {i: key_text(keymap.get(i) or (b.key_display if b.key_display and "," not in b.key else b.key))
            for i, b in bindings.items()}
    rows = "\n".join(f"| `{i}` | {keys[i]} | {b.description or b.action} |" for i, b in sorted(bindings.items()))
    table = f"\n## Binding ids (for the keymap file)\n| id | keys | does |\n|---|---|---|\n{rows}\n"
    text = re.sub(r"\{([a-z]+\.[a-z0-9-]+)\}", lambda m: keys[m.group(1)], HELP)
    return text.replace("{keymap_file}", keymap_file) + table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", key_display="esc", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(help_text(dict(getattr(self.app, "_keymap", {})), str(keymap_path())))
        yield Footer()
