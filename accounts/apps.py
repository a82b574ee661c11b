from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from courses import stamps

        # last_login is written at every sign-in and shown nowhere.
        stamps.track(self.get_model("User"), user="pk", quiet=("last_login",))
