from django.contrib import admin

from helpdesk.tenancy.models import Membership, Tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "reference_prefix", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]
