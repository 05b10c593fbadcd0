# The tenant models moved here from the relay app (label "portal"), keeping their tables:
# on a database made before the move only Django's record of them changes; on a fresh one
# the relay app's 0002 made the tables already.

import django.db.models.deletion
import portal.tenants.branding
import portal.tenants.models
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    """Admin history and permissions follow the models to their new app."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("tenantsettings", "tenanthost", "tenantgeneration"):
        if not ContentType.objects.filter(app_label="tenants", model=model).exists():
            ContentType.objects.filter(app_label="portal", model=model).update(app_label="tenants")


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
                    name='TenantGeneration',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('value', models.BigIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'portal_tenantgeneration',
                    },
                ),
                migrations.CreateModel(
                    name='TenantSettings',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('slug', models.SlugField(max_length=63, unique=True, validators=[portal.tenants.models._validate_not_default])),
                        ('name', models.CharField(max_length=100, verbose_name='display name')),
                        ('active', models.BooleanField(default=True)),
                        ('logo', models.BinaryField(blank=True, default=b'')),
                        ('logo_type', models.CharField(blank=True, editable=False, max_length=40)),
                        ('favicon', models.BinaryField(blank=True, default=b'')),
                        ('favicon_type', models.CharField(blank=True, editable=False, max_length=40)),
                        ('primary_color', models.CharField(default='#1F5FBF', max_length=7, validators=[portal.tenants.branding.validate_brand_color])),
                        ('accent_color', models.CharField(default='#0B7A53', max_length=7, validators=[portal.tenants.branding.validate_brand_color])),
                        ('support_email', models.EmailField(blank=True, max_length=254)),
                        ('support_url', models.URLField(blank=True)),
                        ('help_text', models.TextField(blank=True, help_text='Shown above the upload form. Markdown; HTML is shown as text.')),
                        ('privacy_url', models.URLField(blank=True, verbose_name='privacy policy URL')),
                        ('imprint_url', models.URLField(blank=True, verbose_name='imprint URL')),
                        ('api_url', models.URLField(default='https://api.licensespring.com/api/v4', max_length=300, verbose_name='License API URL')),
                        ('api_key', models.CharField(max_length=200, verbose_name='API key')),
                        ('shared_key_encrypted', models.TextField(blank=True, editable=False)),
                        ('bundle_products', models.CharField(blank=True, help_text='Comma-separated product codes that are bundles.', max_length=500)),
                        ('activation_enabled', models.BooleanField(default=True)),
                        ('deactivation_enabled', models.BooleanField(default=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'portal_tenantsettings',
                        'verbose_name': 'tenant',
                        'verbose_name_plural': 'tenants',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='TenantHost',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('host', models.CharField(max_length=253, unique=True, validators=[portal.tenants.models._validate_host])),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='hosts', to='tenants.tenantsettings')),
                    ],
                    options={
                        'db_table': 'portal_tenanthost',
                        'ordering': ['host'],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
