from django.contrib import admin

from tutor.models import Allowance, Conversation, Message


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["role", "text", "status", "flags", "rating", "tokens_in", "tokens_out", "cost_usd"]
    readonly_fields = fields


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "course", "kind", "item_slug", "human_requested_at", "updated_at"]
    list_filter = ["course", "kind"]
    inlines = [MessageInline]


@admin.register(Allowance)
class AllowanceAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "points", "updated_at"]
