"""The one pipeline: ``Workspace`` (load, evaluate, edit, propose, compare) and its scenarios and project files.

Every surface (CLI, app, notebook, batch) goes from files to numbers through
:class:`planner.workspace.workspace.Workspace`; ``propose`` builds the siting problem of a
workspace, the same for every surface; ``edits`` applies an edit to a scenario under the
planning rules (:func:`planner.workspace.edits.apply_edit`).
"""
