"""Every model module, imported in one place so the metadata (and Alembic) sees all tables."""

from advocacy.advocates import models as advocates  # noqa: F401
from advocacy.campaigns import models as campaigns  # noqa: F401
from advocacy.console import models as console  # noqa: F401
from advocacy.customers import models as customers  # noqa: F401
from advocacy.experiments import models as experiments  # noqa: F401
from advocacy.kpis import models as kpis  # noqa: F401
from advocacy.links import models as links  # noqa: F401
from advocacy.rewards import models as rewards  # noqa: F401
from advocacy.webhooks import models as webhooks  # noqa: F401
from advocacy.workspaces import models as workspaces  # noqa: F401
