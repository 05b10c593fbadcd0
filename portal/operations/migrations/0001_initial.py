# RateLimitCounter moved here from the relay app (label "portal"), keeping its table.

from django.db import migrations, models


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="operations", model="ratelimitcounter").exists():
        ContentType.objects.filter(app_label="portal", model="ratelimitcounter").update(
            app_label="operations"
        )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('portal', '0003_ratelimitcounter'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='RateLimitCounter',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('bucket', models.CharField(max_length=255, unique=True)),
                        ('hits', models.PositiveIntegerField(default=0)),
                        ('expires_at', models.DateTimeField(db_index=True)),
                    ],
                    options={
                        'db_table': 'portal_ratelimitcounter',
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
