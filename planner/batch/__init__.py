"""Many counties at once: a prefecture or province, one Workspace run per county, on Dask.

The layer sits beside the CLI and the app, on top of the one pipeline: a county task is a
:class:`~planner.workspace.workspace.Workspace` run over the county's own demand, with
the roads and stations of a halo around it so that service across county borders counts.

- :mod:`planner.batch.tasks` — what travels between the client and the workers
  (:class:`~planner.batch.tasks.CountyInputs`, :class:`~planner.batch.tasks.CountyTask`,
  :class:`~planner.batch.tasks.BatchSettings`, :class:`~planner.batch.tasks.CountyOutcome`):
  paths and small values, never data frames.
- :mod:`planner.batch.halo` — the county's roads plus a halo, read by bounding box, and
  the check that the halo was wide enough.
- :mod:`planner.batch.county` — one county task: halo, workspace, report files.
- :mod:`planner.batch.inputs` — the manifest, turned into tasks (neighbours, keys).
- :mod:`planner.batch.split` — the province-wide files, split into counties.
- :mod:`planner.batch.run` — the tasks on a Dask cluster (local or remote), with retries,
  a memory limit per worker, resume and a progress bar.
- :mod:`planner.batch.province` — the province's files: workbook, GeoPackage, summary
  (:mod:`planner.batch.province_maps`: the overview maps).
- :mod:`planner.batch.siting` — a province-wide number of new sites shared out by marginal gain.
"""
