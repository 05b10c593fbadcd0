# The tenant models and the rate limit's counter now belong to the apps "tenants" and
# "operations" (their 0001 migrations), tables unchanged: only the relay app's record of them
# goes. Runs after those apps have taken the models over.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0003_ratelimitcounter'),
        ('tenants', '0001_initial'),
        ('operations', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='TenantHost'),
                migrations.DeleteModel(name='TenantSettings'),
                migrations.DeleteModel(name='TenantGeneration'),
                migrations.DeleteModel(name='RateLimitCounter'),
            ],
        ),
    ]
