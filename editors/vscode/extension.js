// The policyengine extension: starts `policyengine lsp` for the workspace and hands it `.policy`
// files and policy test files (YAML next to the policies); the server does the rest.
"use strict";

const path = require("path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function expand(value, folder) {
  return folder ? value.replace(/\$\{workspaceFolder\}/g, folder.uri.fsPath) : value;
}

async function activate(context) {
  const settings = vscode.workspace.getConfiguration("policyengine");
  const folder = vscode.workspace.workspaceFolders ? vscode.workspace.workspaceFolders[0] : undefined;
  const command = expand(settings.get("command", "policyengine"), folder);
  const args = settings.get("args", ["lsp"]).map((a) => expand(a, folder));
  const config = expand(settings.get("config", ""), folder);
  const serverOptions = {
    command,
    args,
    transport: TransportKind.stdio,
    options: { cwd: folder ? folder.uri.fsPath : undefined },
  };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "policy" },
      { scheme: "file", language: "yaml", pattern: "**/tests/**/*.{yaml,yml}" },
    ],
    initializationOptions: config ? { config: path.resolve(folder ? folder.uri.fsPath : ".", config) } : {},
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{policy,yaml,yml}"),
    },
  };
  client = new LanguageClient("policyengine", "policyengine", serverOptions, clientOptions);
  await client.start();
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
