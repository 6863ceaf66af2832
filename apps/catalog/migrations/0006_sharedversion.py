from django.db import migrations, models


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Rows for the counters that exist today, so a bump is always one UPDATE.
    SharedVersion = apps.get_model("catalog", "SharedVersion")
    for name in ("catalog", "principals"):
        SharedVersion.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_provider_countries"),
    ]

    operations = [
        migrations.CreateModel(
            name="SharedVersion",
            fields=[
                ("name", models.CharField(max_length=50, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
