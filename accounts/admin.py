from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.forms import LimitedAdminAuthenticationForm
from accounts.models import User

admin.site.register(User, UserAdmin)
# The admin's sign-in counts against the same windows as the site's (accounts/services.py).
admin.site.login_form = LimitedAdminAuthenticationForm
