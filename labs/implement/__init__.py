"""Implement mode: the learner writes the network's functions, PathLab grades them in a sandbox.

    tasks.py      what each lab asks for: file name, functions, checks and their points (get_task, TASKS)
    solutions/    the reference solutions, one module per lab
    scaffold.py   the learner's starting file, generated from the solution (scaffold_source)
    hints.py      hints per lab, revealed one at a time
    checks/       the checks that run inside the sandbox, one module per lab (+ common comparisons)
    sandbox.py    the child process: limits itself, imports the learner's file, records each check
    grader.py     the parent side: grade_file() runs the child safely and returns an ImplementGrade

Nothing here imports the learner's file into the calling process.
"""

from labs.implement.grader import ImplementGrade, grade_file
from labs.implement.scaffold import scaffold_source, solution_source
from labs.implement.tasks import TASKS, Task, get_task

__all__ = ["TASKS", "ImplementGrade", "Task", "get_task", "grade_file", "scaffold_source", "solution_source"]
