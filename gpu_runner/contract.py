"""The names the runner and the database side agree on: Celery task names, queues and
priorities. One place, so the two sides cannot drift (gpu_runner imports nothing from grader,
and grader sends to the runner by name)."""

# Queues (DESIGN.md §3). A GPU worker consumes only QUEUE_GPU, with concurrency 1.
QUEUE_CPU = "grade.cpu"
QUEUE_GPU = "grade.gpu"
QUEUE_GRADER = "grader"  # tasks that touch the database
QUEUE_FOR_DEVICE = {"cpu": QUEUE_CPU, "gpu": QUEUE_GPU}

# Tasks
RUN_JOB = "gpu_runner.run_job"
RECORD_RESULT = "grader.record_result"
RECORD_REFERENCE = "grader.record_reference"
RECORD_REPLAY = "grader.record_replay"
SUBMISSION_STARTED = "grader.submission_started"

# Message priorities on the Redis broker: 0 is served first. Learners' own Run and Submit go at
# the default; staff regrades and replays wait behind every learner job already queued (kombu
# keeps one list per priority step and a worker pops them in order).
PRIORITY_LEARNER = 0
PRIORITY_BATCH = 9
