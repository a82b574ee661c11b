"""Writes for courses. Split by topic; import from here."""

from courses.services.authoring import (  # noqa: F401
    workspace_get_or_create,
    workspace_grading_changes,
    workspace_problems,
    workspace_publish,
    workspace_reset,
    workspace_tree,
    workspace_write,
)
from courses.services.membership import (  # noqa: F401
    membership_enroll,
    membership_set_role,
    membership_touch,
    progress_record,
)
from courses.services.policies import policy_set  # noqa: F401
from courses.services.versions import (  # noqa: F401
    CourseInvalid,
    version_import,
    version_publish,
    version_rollback,
    version_tree,
)
