"""Implement mode: the learner writes the network's functions, PathLab grades them in a sandbox.

    tasks.py      what each lab asks for: file name, functions, checks and their points (get_task, TASKS)
    solutions/    the reference solutions, one module per lab
    scaffold.py   the learner's starting file, generated from the solution (scaffold_source)
    hints.py      hints per lab, revealed one at a time
    checks/       the checks, one module per lab (+ common comparisons, the shared training loops)
    grader.py     the grading process's side: grade_file() runs the checker and returns an ImplementGrade
    checker.py    the trusted child: runs the checks, calls the learner's functions in a third process
    remote.py     the checker's handle on the learner's process (start it confined, call, batch, close)
    stub.py       what runs in the learner's process (copied, with wire.py and confine.py, to a private
                  folder): confines itself, imports the learner's file, answers calls
    wire.py       the messages between them: JSON and raw NumPy arrays, never pickle
    confine.py    prctl, namespaces, Landlock and killing a process tree, through ctypes
    protocol.py   the checker's job, the seal on its results, and the record of the confinement

Nothing here imports the learner's file into a process that holds a check or a grade.
"""

from labs.implement.grader import ImplementGrade, grade_file
from labs.implement.scaffold import scaffold_source, solution_source
from labs.implement.tasks import TASKS, Task, get_task

__all__ = ["TASKS", "ImplementGrade", "Task", "get_task", "grade_file", "scaffold_source", "solution_source"]
