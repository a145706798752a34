from core.audit import AuditedCommand
from workplaces.demo import seed_demo


class Command(AuditedCommand):
    help = "Load realistic demo data and the users admin, finance, manager, sales, sales2."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo1234", help="Password of the demo users.")

    def handle(self, *args, password: str, **options):
        counts = seed_demo(password=password)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data loaded: {customers} customers, {invoices} invoices, "
                "{payments} payments, {reminders} reminders. "
                "Users admin, finance, manager, sales, sales2 (password: {pw}).".format(
                    **counts, pw=password
                )
            )
        )
