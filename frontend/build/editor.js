// Entry point for the editor bundle (built by ../build.sh into static/frontend/editor.min.js).
// Exposes window.FromScratchEditor.create(parent, options) -> {view, getDoc, setDoc, focus}.
import { EditorState, Compartment } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, rectangularSelection, highlightSpecialChars,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  indentOnInput, bracketMatching, foldGutter, foldKeymap, syntaxHighlighting,
  defaultHighlightStyle, HighlightStyle, indentUnit,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import { python } from "@codemirror/lang-python";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { tags } from "@lezer/highlight";

const darkHighlight = HighlightStyle.define([
  { tag: tags.keyword, color: "#e59cf0" },
  { tag: [tags.string, tags.special(tags.string)], color: "#9bdc8f" },
  { tag: tags.number, color: "#f5b477" },
  { tag: tags.comment, color: "#98a59a", fontStyle: "italic" },
  { tag: [tags.function(tags.variableName), tags.definition(tags.function(tags.variableName))], color: "#8fb6ff" },
  { tag: tags.className, color: "#8fb6ff" },
  { tag: tags.bool, color: "#f5b477" },
  { tag: tags.operator, color: "#e7c27a" },
]);

function themeFor(dark) {
  return [
    EditorView.theme({
      "&": { height: "100%", fontSize: "14px", backgroundColor: "var(--surface)", color: "var(--text)" },
      ".cm-content": { fontFamily: "var(--mono)", caretColor: "var(--text)" },
      ".cm-gutters": { backgroundColor: "var(--surface-2)", color: "var(--muted)", border: "none" },
      ".cm-activeLine": { backgroundColor: dark ? "#ffffff0d" : "#00000008" },
      ".cm-activeLineGutter": { backgroundColor: dark ? "#ffffff14" : "#0000000d" },
      "&.cm-focused": { outline: "3px solid var(--focus)", outlineOffset: "-3px" },
      ".cm-scroller": { overflow: "auto" },
      "&.cm-focused .cm-cursor": { borderLeftColor: "var(--text)" },
      ".cm-selectionBackground, &.cm-focused .cm-selectionBackground": { backgroundColor: dark ? "#3b4a7a" : "#c9d2ff" },
    }, { dark }),
    syntaxHighlighting(dark ? darkHighlight : defaultHighlightStyle, { fallback: true }),
  ];
}

function create(parent, options) {
  options = options || {};
  const theme = new Compartment();
  const readOnly = new Compartment();
  const isDark = () => document.documentElement.getAttribute("data-theme") === "dark";
  const runKeys = [];
  if (options.onRun) runKeys.push({ key: "Mod-Enter", run: () => { options.onRun(); return true; }, preventDefault: true });
  if (options.onSubmit) runKeys.push({ key: "Shift-Mod-Enter", run: () => { options.onSubmit(); return true; }, preventDefault: true });
  // Escape then Tab leaves the editor (CodeMirror's accessible way out of a Tab-indenting editor).
  const state = EditorState.create({
    doc: options.doc || "",
    extensions: [
      lineNumbers(), highlightActiveLineGutter(), highlightSpecialChars(), history(), foldGutter(),
      drawSelection(), EditorState.allowMultipleSelections.of(true), indentOnInput(), bracketMatching(),
      closeBrackets(), rectangularSelection(), highlightActiveLine(), highlightSelectionMatches(),
      indentUnit.of("    "), EditorState.tabSize.of(4), lintGutter(),
      keymap.of([...runKeys, ...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap, indentWithTab]),
      options.language === "python" || !options.language ? python() : [],
      theme.of(themeFor(isDark())),
      readOnly.of(EditorState.readOnly.of(!!options.readOnly)),
      EditorView.contentAttributes.of({ "aria-label": options.label || "Code editor" }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged && options.onChange) options.onChange(update.state.doc.toString());
      }),
    ],
  });
  const view = new EditorView({ state, parent });
  // Follow the site's dark-mode toggle.
  new MutationObserver(() => view.dispatch({ effects: theme.reconfigure(themeFor(isDark())) }))
    .observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  return {
    view,
    getDoc: () => view.state.doc.toString(),
    setDoc: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    setReadOnly: (flag) => view.dispatch({ effects: readOnly.reconfigure(EditorState.readOnly.of(flag)) }),
    focus: () => view.focus(),
    // Problems by line number (validation of course files): a gutter marker and an underline,
    // red for errors, amber for warnings.
    setProblems: (problems) => {
      const doc = view.state.doc;
      const diagnostics = problems.map((p) => {
        const line = doc.line(Math.max(1, Math.min(p.line, doc.lines)));
        const severity = p.severity === "warning" ? "warning" : "error";
        return { from: line.from, to: Math.max(line.from, line.to), severity, message: p.message };
      });
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    gotoLine: (n) => {
      const line = view.state.doc.line(Math.max(1, Math.min(n, view.state.doc.lines)));
      view.dispatch({ selection: { anchor: line.from }, scrollIntoView: true });
      view.focus();
    },
  };
}

window.FromScratchEditor = { create };
