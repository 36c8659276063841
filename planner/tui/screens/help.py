"""The help screen: every key of every screen, in one scrollable list (`?` or F1 from anywhere)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown

HELP = """\
# PathLab keys

Every key is also shown in the footer of the screen where it works. **ctrl+p** opens the command
palette: every action below, plus themes and the key panel.

## Everywhere
| key | does |
|---|---|
| `m` | the skill map (dashboard) |
| `p` | roles and plan: readiness, path, projected date; change target role or hours |
| `h` | history of lab attempts |
| `e` | export a report (Markdown, HTML, JSON, CSV) |
| `l` | switch learner, or add one |
| `?` / `F1` | this help |
| `escape` | back |
| `ctrl+x` | cancel the lab that is training |
| `q` / `ctrl+q` | quit (while a lab trains, asks first; yes cancels it and records it so) |
| `tab` / `shift+tab` | move between fields and panels |

## Skill map
| key | does |
|---|---|
| `↑` `↓` | graph: along the edges, up to a prerequisite, down to a dependent (back the way you came first); list: through the nodes |
| `←` `→` | graph: to the neighbour in the same layer |
| `enter` | open the node: lesson, quiz and lab |
| `v` | switch between the graph and the list (kept until you quit) |
| `n` | open the first "next up" node |

## Node
| key | does |
|---|---|
| `1` `2` `3` | the lesson, quiz and lab tabs |
| `s` | start the quiz |
| `r` | open the lab: an experiment with the library's network |
| `w` | the build: write the node's pieces yourself (this completes the node, with its quiz) |

## Quiz
| key | does |
|---|---|
| `↑` `↓` `space` | choose an option (`space` ticks a box in a several-answer question) |
| `enter` | answer (each option is then marked right or wrong, with why), then go to the next question |
| `escape` | leave the quiz (once you have answered, asks first: a quiz left half done is not recorded) |

## Lab (experiment)
| key | does |
|---|---|
| `tab` | move through the hyperparameters; each is checked as you type |
| `ctrl+r` | run with these values |
| `ctrl+x` | cancel the run |
| `ctrl+d` | reset every value to its default |

## Build (write it yourself)
| key | does |
|---|---|
| `w` | write the scaffold into your workspace (asks before replacing your file; the old one is kept as .bak) |
| `o` | open your file in `$VISUAL` / `$EDITOR` (the app waits until the editor exits) |
| `g` | grade your file in the sandbox: structure, values, gradients, then training (its loss drawn live) |
| `ctrl+x` | cancel the grading (the points earned so far are recorded) |
| `n` | the next hint |
| `t` | watch the file: grade again on every save (press again to stop) |
| `s` | the reference solution, once your own code passed |

## History
| key | does |
|---|---|
| `enter` | open the attempt: curves and grades |
| `space` | mark an attempt for comparison (mark two) |
| `c` | compare the two marked attempts (of one lab): overlaid curves, hyperparameter diff |
| `1`…`5` | sort by lab, when, score, status |
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", key_display="esc", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(HELP)
        yield Footer()
