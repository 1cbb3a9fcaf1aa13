"""The tenant's public help page (no login) and the staff pages of the help centre.

Public (``/t/<slug>/help/...``, ``public_help_view``): published articles by category, search,
article pages with a "did this help?" vote, the contact form with article suggestions while the
subject is typed (htmx), and "this answered my question" (a deflection: no ticket, counted).
``TenantMiddleware`` has resolved the tenant and runs the request in its scope; nothing here
reads a session or a membership.

Staff: article management (``/t/<slug>/admin/articles/``, Perm.WORKSPACE_MANAGE) and the JSON of
published articles' links for the reply box (``/t/<slug>/articles/links/``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.tenancy.decorators import tenant_view
from helpdesk.tenancy.policy import Perm
from tickets import selectors_help as selectors
from tickets.models import Article
from tickets.services import helpcenter as services
from tickets.services.webform import (
    ALLOWED_TYPES,
    MAX_FILE_BYTES,
    MAX_FILES,
    RateLimited,
    client_address,
    webform_submit,
)

SENT_SALT = "webform-sent"
SENT_MAX_AGE = 24 * 3600
SUGGESTIONS = 3


def public_help_view(view: Callable) -> Callable:
    """A public page of the URL's tenant: no login, no membership; an unknown tenant is a 404
    (already answered by the middleware). Marked ``customer_facing`` for the isolation probe
    (it may answer anyone, but never with another tenant's data)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request, "tenant", None) is None:
            raise Http404("No tenant")
        return view(request, *args, **kwargs)

    wrapper.customer_facing = True
    return wrapper


def _client_ip(request: HttpRequest) -> str:
    return client_address(
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
    )


def _voter(request: HttpRequest) -> str:
    return f"{_client_ip(request)}|{request.META.get('HTTP_USER_AGENT', '')[:200]}"


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _form_errors_from(exc: ValidationError, form: forms.Form) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _published_or_404(request: HttpRequest, article_slug: str) -> Article:
    article = selectors.article_get_published(tenant=request.tenant, slug=article_slug)
    if article is None:
        raise Http404("Not found.")
    return article


# --- Forms -------------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ContactForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, label="Your name")
    email = forms.EmailField(
        max_length=254,
        label="Your email",
        help_text="We reply to this address.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    subject = forms.CharField(max_length=200)
    message = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 7}))
    attachments = MultipleFileField(
        required=False,
        help_text=(
            f"Up to {MAX_FILES} files, {MAX_FILE_BYTES // (1024 * 1024)} MB each: "
            + ", ".join(sorted({e.lstrip(".") for e in ALLOWED_TYPES}))
            + "."
        ),
        widget=MultipleFileInput(attrs={"accept": ",".join(sorted(ALLOWED_TYPES))}),
    )
    # Honeypot: hidden from people (and from assistive technology), filled in by bots.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, suggest_url: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.fields["subject"].widget.attrs.update(
            {
                "autocomplete": "off",
                "hx-get": suggest_url,
                "hx-trigger": "input changed delay:300ms, focus once",
                "hx-target": "#article-suggestions",
                "hx-sync": "this:replace",
            }
        )


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=200,
        required=False,
        label="Address",
        help_text="The end of the article's public address. Leave empty to derive it from the title.",
    )
    category = forms.CharField(
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"list": "article-categories", "autocomplete": "off"}),
    )
    body = forms.CharField(
        label="Text",
        widget=forms.Textarea(attrs={"rows": 18, "class": "mono"}),
        help_text="Markdown: **bold**, _italic_, [links](https://…), lists, headings, `code`.",
    )


# --- Public pages ------------------------------------------------------------------------------


@public_help_view
@require_GET
def help_home(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    context = {
        "query": query,
        "results": (
            [
                {"article": a, "excerpt": selectors.article_excerpt(a.body)}
                for a in selectors.article_search(tenant=request.tenant, query=query, limit=20)
            ]
            if query
            else None
        ),
        "categories": selectors.article_categories(tenant=request.tenant),
    }
    return render(request, "tickets/help/home.html", context)


@public_help_view
@require_GET
def help_article(request: HttpRequest, tenant_slug: str, article_slug: str) -> HttpResponse:
    article = _published_or_404(request, article_slug)
    related = [
        a
        for a in selectors.article_list_published(tenant=request.tenant).filter(
            category=article.category
        )[:6]
        if a.pk != article.pk
    ][:5]
    context = {
        "article": article,
        "body_html": selectors.article_render(article.body),
        "related": related,
        "from_contact": request.GET.get("from") == "contact",
    }
    return render(request, "tickets/help/article.html", context)


@public_help_view
@require_POST
def help_article_vote(request: HttpRequest, tenant_slug: str, article_slug: str) -> HttpResponse:
    article = _published_or_404(request, article_slug)
    answer = request.POST.get("helpful")
    if answer not in ("yes", "no"):
        return HttpResponse("Answer yes or no.", status=400, content_type="text/plain")
    services.article_vote(
        tenant=request.tenant, article=article, helpful=answer == "yes", voter=_voter(request)
    )
    if _is_htmx(request):
        return render(
            request, "tickets/help/_vote_thanks.html", {"article": article, "helpful": answer}
        )
    messages.success(request, "Thanks for your feedback.")
    return redirect("tickets:help-article", tenant_slug=tenant_slug, article_slug=article.slug)


@public_help_view
@require_POST
def help_deflect(request: HttpRequest, tenant_slug: str, article_slug: str) -> HttpResponse:
    """Count a deflection ("this answered my question"): no ticket is created."""
    article = _published_or_404(request, article_slug)
    if request.POST.get("answered") != "yes":
        return HttpResponse("Say whether the article answered your question.", status=400)
    services.article_deflect(tenant=request.tenant, article=article, voter=_voter(request))
    template = (
        "tickets/help/_deflected.html" if _is_htmx(request) else "tickets/help/deflected.html"
    )
    return render(request, template, {"article": article})


@public_help_view
@require_GET
def help_suggest(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Articles matching the subject being typed (htmx partial)."""
    subject = request.GET.get("subject", "")[:200]
    articles = selectors.article_search(tenant=request.tenant, query=subject, limit=SUGGESTIONS)
    return render(
        request,
        "tickets/help/_suggestions.html",
        {
            "suggestions": [
                {"article": a, "excerpt": selectors.article_excerpt(a.body, 120)} for a in articles
            ]
        },
    )


@public_help_view
@require_http_methods(["GET", "POST"])
def help_contact(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    suggest_url = reverse("tickets:help-suggest", kwargs={"tenant_slug": tenant.slug})
    if request.method == "GET":
        initial = {"subject": request.GET.get("subject", "")[:200]}
        form = ContactForm(initial=initial, suggest_url=suggest_url)
        return render(request, "tickets/help/contact.html", {"form": form})
    form = ContactForm(request.POST, request.FILES, suggest_url=suggest_url)
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        if data["website"]:
            # A bot filled the honeypot: look like success, store nothing.
            return redirect("tickets:help-contact-sent", tenant_slug=tenant.slug)
        try:
            result = webform_submit(
                tenant=tenant,
                name=data["name"],
                email=data["email"],
                subject=data["subject"],
                message=data["message"],
                attachments=data["attachments"],
                client_ip=_client_ip(request),
            )
        except RateLimited as exc:
            form.add_error(None, exc.message)
            status = 429
        except ValidationError as exc:
            _form_errors_from(exc, form)
        else:
            token = signing.dumps(
                {"t": tenant.pk, "r": result.reference, "u": result.status_url}, salt=SENT_SALT
            )
            url = reverse("tickets:help-contact-sent", kwargs={"tenant_slug": tenant.slug})
            return redirect(f"{url}?c={token}")
    if status == 200:
        status = 400
    return render(request, "tickets/help/contact.html", {"form": form}, status=status)


@public_help_view
@require_GET
def help_contact_sent(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The confirmation: the ticket's reference and a link to its status page."""
    sent = None
    try:
        data = signing.loads(request.GET.get("c", ""), salt=SENT_SALT, max_age=SENT_MAX_AGE)
    except signing.BadSignature:
        data = None
    if isinstance(data, dict) and data.get("t") == request.tenant.pk:
        sent = {"reference": data.get("r", ""), "status_url": data.get("u", "")}
    return render(request, "tickets/help/sent.html", {"sent": sent})


# --- Staff pages -------------------------------------------------------------------------------


def _article_or_404(request: HttpRequest, article_id) -> Article:
    article = selectors.article_get(tenant=request.tenant, public_id=article_id)
    if article is None:
        raise Http404("Not found.")
    return article


@tenant_view(Perm.WORKSPACE_MANAGE)
@require_GET
def article_admin_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    articles = list(selectors.article_list(tenant=request.tenant).order_by("category", "title"))
    totals = {
        "published": sum(a.state == Article.State.PUBLISHED for a in articles),
        "drafts": sum(a.state == Article.State.DRAFT for a in articles),
        "deflections": sum(a.deflections for a in articles),
    }
    return render(request, "tickets/help/admin_list.html", {"articles": articles, "totals": totals})


def _article_form_page(request: HttpRequest, article: Article | None) -> HttpResponse:
    tenant = request.tenant
    if request.method == "GET":
        initial = (
            {
                "title": article.title,
                "slug": article.slug,
                "category": article.category,
                "body": article.body,
            }
            if article
            else {}
        )
        form = ArticleForm(initial=initial)
        preview = selectors.article_render(article.body) if article else None
        return _render_article_form(request, form, article, preview)
    form = ArticleForm(request.POST)
    if not form.is_valid():
        return _render_article_form(request, form, article, None, status=400)
    data = form.cleaned_data
    if "preview" in request.POST:
        return _render_article_form(request, form, article, selectors.article_render(data["body"]))
    publish = request.POST.get("then") == "publish"
    try:
        if article is None:
            article = services.article_create(
                tenant=tenant, actor=request.user, publish=publish, **data
            )
            messages.success(
                request,
                f"“{article.title}” is "
                + ("published." if publish else "saved as a draft: customers do not see it yet."),
            )
        else:
            article = services.article_update(
                tenant=tenant, actor=request.user, article=article, **data
            )
            if publish:
                article = services.article_set_published(
                    tenant=tenant, actor=request.user, article=article, published=True
                )
            messages.success(request, f"“{article.title}” is saved.")
    except ValidationError as exc:
        _form_errors_from(exc, form)
        return _render_article_form(request, form, article, None, status=400)
    return redirect(
        "tickets:article-admin-edit", tenant_slug=tenant.slug, article_id=article.public_id
    )


def _render_article_form(request, form, article, preview, status=200) -> HttpResponse:
    categories = sorted(
        {
            c
            for c in selectors.article_list(tenant=request.tenant).values_list(
                "category", flat=True
            )
            if c
        }
    )
    public_url = (
        selectors.article_public_url(tenant=request.tenant, article=article)
        if article and article.state == Article.State.PUBLISHED
        else ""
    )
    context = {
        "form": form,
        "article": article,
        "preview": preview,
        "categories": categories,
        "public_url": public_url,
    }
    return render(request, "tickets/help/admin_form.html", context, status=status)


@tenant_view(Perm.WORKSPACE_MANAGE)
@require_http_methods(["GET", "POST"])
def article_admin_new(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    return _article_form_page(request, None)


@tenant_view(Perm.WORKSPACE_MANAGE)
@require_http_methods(["GET", "POST"])
def article_admin_edit(request: HttpRequest, tenant_slug: str, article_id) -> HttpResponse:
    return _article_form_page(request, _article_or_404(request, article_id))


@tenant_view(Perm.WORKSPACE_MANAGE)
@require_POST
def article_admin_publish(request: HttpRequest, tenant_slug: str, article_id) -> HttpResponse:
    article = _article_or_404(request, article_id)
    publish = request.POST.get("publish") == "1"
    article = services.article_set_published(
        tenant=request.tenant, actor=request.user, article=article, published=publish
    )
    if publish:
        messages.success(request, f"“{article.title}” is published on your help page.")
    else:
        messages.success(
            request, f"“{article.title}” is back to draft: customers no longer see it."
        )
    if request.POST.get("next") == "edit":
        return redirect(
            "tickets:article-admin-edit", tenant_slug=tenant_slug, article_id=article.public_id
        )
    return redirect("tickets:article-admin", tenant_slug=tenant_slug)


@tenant_view(Perm.TICKETS_VIEW)
@require_GET
def article_links_json(request: HttpRequest, tenant_slug: str) -> JsonResponse:
    """Published articles' titles and public URLs, for "insert article link" in a reply."""
    query = request.GET.get("q", "")[:200]
    return JsonResponse({"articles": selectors.article_links(tenant=request.tenant, query=query)})
