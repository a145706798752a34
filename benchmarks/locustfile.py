"""Locust scenario for benchmarks/load_test.py and ``python -m benchmarks --load``: a
finance user working the main pages (the user and password come from RELANCE_LOAD_USER
and RELANCE_LOAD_PASSWORD, the benchmark's finance user by default)."""

import os
import random
import re

from locust import HttpUser, between, task

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class FinanceUser(HttpUser):
    wait_time = between(0.5, 1.5)
    customer_ids: list[int] = []

    def on_start(self) -> None:
        page = self.client.get("/login/", name="login form")
        token = CSRF.search(page.text).group(1)
        response = self.client.post(
            "/login/",
            {
                "username": os.environ.get("RELANCE_LOAD_USER", "bench-finance"),
                "password": os.environ.get("RELANCE_LOAD_PASSWORD", "bench-only-password"),
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": f"{self.host}/login/"},
            name="login",
        )
        if "/login/" in response.url:
            raise RuntimeError("login failed")
        if not FinanceUser.customer_ids:
            listing = self.client.get("/customers/?sort=-overdue", name="customer list")
            FinanceUser.customer_ids = [
                int(x) for x in re.findall(r'href="/customers/(\d+)/"', listing.text)
            ]

    @task(3)
    def dashboard(self) -> None:
        self.client.get("/", name="dashboard")
        # The totals and their trend, which the page loads with htmx right after.
        self.client.get(
            "/customers/dashboard/?part=totals",
            headers={"HX-Request": "true"},
            name="dashboard totals",
        )

    @task(3)
    def customer_list(self) -> None:
        self.client.get(f"/customers/?page={random.randint(1, 20)}", name="customer list")

    @task(4)
    def customer_page(self) -> None:
        if FinanceUser.customer_ids:
            self.client.get(
                f"/customers/{random.choice(FinanceUser.customer_ids)}/", name="customer page"
            )

    @task(2)
    def aged_balance(self) -> None:
        self.client.get("/receivables/aged-balance/", name="aged balance")
