"""The table of everything the server offers, built once at start-up.

Tools are declared the design card's way (django-mcp-server ``MCPToolset`` classes
whose methods carry ``@tool``), resources and prompts with FastMCP's decorators; at
start-up :func:`build` turns what they registered into immutable specs, and every
request reads this table: the endpoint and stdio to list and dispatch, the pipeline
to run, the audit to tell a registered name from one a client made up, telemetry to
label metrics, completions to know a prompt's or template's arguments. Nothing after
start-up asks django-mcp-server or FastMCP again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mcp import types
from pydantic import BaseModel, ConfigDict

from mcp_tools import sdk_adapter
from mcp_tools.answers import ToolAnswer
from mcp_tools.server import ToolMethod

TEMPLATE_VARIABLE = re.compile(r"{([^}]+)}")


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what clients see of it and how it runs.

    ``arguments`` refuses fields the tool does not declare; ``handler`` is the
    toolset method, bound to the one toolset instance made at start-up;
    ``sql_argument`` names the argument that carries SQL (its text is echoed in error
    answers and logged by fingerprint); ``fenced`` says the answer's text holds rows,
    fenced as untrusted data.
    """

    name: str
    title: str
    description: str
    arguments: type[BaseModel]
    pre_parse: Callable[[dict[str, Any]], dict[str, Any]]
    handler: Callable[..., ToolAnswer]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    annotations: types.ToolAnnotations
    sql_argument: str | None
    fenced: bool

    @property
    def read_only(self) -> bool:
        return bool(self.annotations.readOnlyHint)

    def validated(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments as the tool's model accepts them (raises ValidationError)."""
        model = self.arguments.model_validate(self.pre_parse(arguments))
        return {name: getattr(model, name) for name in type(model).model_fields}

    def listing(self) -> types.Tool:
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            inputSchema=self.input_schema,
            outputSchema=self.output_schema,
            annotations=self.annotations,
        )


@dataclass(frozen=True)
class ResourceSpec:
    """A resource at a fixed URI; ``read`` runs in the caller's tenant context."""

    uri: str
    name: str
    title: str | None
    description: str | None
    mime_type: str
    read: Callable[[], str | bytes]

    def listing(self) -> types.Resource:
        return types.Resource.model_validate(
            {"uri": self.uri, "name": self.name, "title": self.title,
             "description": self.description, "mimeType": self.mime_type}
        )  # fmt: skip


@dataclass(frozen=True)
class TemplateSpec:
    """A resource template (``zava://charts/{chart_id}``); ``read`` takes its variables."""

    uri_template: str
    name: str
    title: str | None
    description: str | None
    mime_type: str
    read: Callable[..., str | bytes]
    match: Callable[[str], dict[str, Any] | None]

    @property
    def variables(self) -> list[str]:
        return TEMPLATE_VARIABLE.findall(self.uri_template)

    def listing(self) -> types.ResourceTemplate:
        return types.ResourceTemplate(
            uriTemplate=self.uri_template,
            name=self.name,
            title=self.title,
            description=self.description,
            mimeType=self.mime_type,
        )


@dataclass(frozen=True)
class PromptSpec:
    """A prompt: its arguments and ``render``, which turns them into the text (the
    function FastMCP registered, wrapped in pydantic's ``validate_call``)."""

    name: str
    title: str | None
    description: str | None
    arguments: tuple[types.PromptArgument, ...]
    render: Callable[..., Any]

    @property
    def argument_names(self) -> list[str]:
        return [argument.name for argument in self.arguments]

    def listing(self) -> types.Prompt:
        return types.Prompt(
            name=self.name,
            title=self.title,
            description=self.description,
            arguments=list(self.arguments),
        )


@dataclass(frozen=True)
class Registry:
    tools: dict[str, ToolSpec]
    resources: dict[str, ResourceSpec]
    templates: tuple[TemplateSpec, ...]
    prompts: dict[str, PromptSpec]

    def template_of(self, uri: str) -> tuple[TemplateSpec, dict[str, Any]] | None:
        """The template ``uri`` matches, with the values of its variables."""
        for template in self.templates:
            values = template.match(uri)
            if values is not None:
                return template, values
        return None

    def knows(self, method: str, name: str) -> bool:
        """Whether ``name`` is a tool, resource (or template), or prompt registered here;
        for a completion, a prompt or a resource template."""
        if method == "tools/call":
            return name in self.tools
        if method == "resources/read":
            return name in self.resources or self.template_of(name) is not None
        if method == "prompts/get":
            return name in self.prompts
        if method == "completion/complete":
            return name in self.prompts or name in {t.uri_template for t in self.templates}
        return False

    @cached_property
    def tool_list(self) -> list[types.Tool]:
        return [self.tools[name].listing() for name in sorted(self.tools)]


def _forbidding_extra(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` (FastMCP's, named ``<tool>Arguments``) refusing undeclared arguments."""
    config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")
    return type(model.__name__, (model,), {"model_config": config})


def build() -> Registry:
    """The table of what django-mcp-server and FastMCP registered.

    Refuses to build when an upgrade changed the internals it reads
    (:func:`mcp_tools.sdk_adapter.problems`).
    """
    changed = sdk_adapter.problems()
    if changed:
        raise RuntimeError("django-mcp-server or the MCP SDK changed: " + "; ".join(changed))
    tools: dict[str, ToolSpec] = {}
    toolsets: dict[type, object] = {}
    for registered in sdk_adapter.registered_tools():
        found = sdk_adapter.toolset_method(registered)
        method = getattr(found.toolset, found.method_name, None)
        if not isinstance(method, ToolMethod):
            raise RuntimeError(f"Tool {registered.name} has no @tool(description=...).")
        if found.toolset not in toolsets:  # one instance per toolset class
            toolsets[found.toolset] = found.toolset()
        toolset = toolsets[found.toolset]
        model = _forbidding_extra(sdk_adapter.argument_model(registered))
        tools[registered.name] = ToolSpec(
            name=registered.name,
            title=registered.name.replace("_", " ").capitalize(),
            description=method.zava_description,
            arguments=model,
            pre_parse=sdk_adapter.argument_pre_parser(registered),
            handler=method.method.__get__(toolset),
            input_schema=model.model_json_schema(by_alias=True),
            output_schema=registered.output_schema,
            annotations=method.zava_annotations,
            sql_argument=method.echo,
            fenced=method.fenced,
        )
    resources = {
        str(resource.uri): ResourceSpec(
            uri=str(resource.uri),
            name=resource.name or "",
            title=resource.title,
            description=resource.description,
            mime_type=resource.mime_type,
            read=sdk_adapter.resource_function(resource),
        )
        for resource in sdk_adapter.registered_resources()
    }
    templates = tuple(
        TemplateSpec(
            uri_template=template.uri_template,
            name=template.name,
            title=template.title,
            description=template.description,
            mime_type=template.mime_type,
            read=template.fn,
            match=template.matches,
        )
        for template in sdk_adapter.registered_templates()
    )
    prompts = {
        prompt.name: PromptSpec(
            name=prompt.name,
            title=prompt.title,
            description=prompt.description,
            arguments=tuple(
                types.PromptArgument.model_validate(argument.model_dump())
                for argument in prompt.arguments or ()
            ),
            render=prompt.fn,
        )
        for prompt in sdk_adapter.registered_prompts()
    }
    return Registry(tools=tools, resources=resources, templates=templates, prompts=prompts)


_built: list[Registry] = []


def build_once() -> Registry:
    """Build the table (``McpToolsConfig.ready`` calls this at start-up)."""
    if not _built:
        _built.append(build())
    return _built[0]


def registry() -> Registry:
    """The table, as built at start-up."""
    return _built[0] if _built else build_once()
