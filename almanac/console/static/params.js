// The parameters form JSON Editor generates from a template's JSON Schema, on every page
// that has one: the job form (create, edit, clone) and a job's run-now. Each holder marked
// data-params-editor names its parts by id in data attributes:
//   data-payload-field  the text box the form posts (field "payload"), JSON;
//   data-schema         a JSON script with the schema;
//   data-start          a JSON script with the value to start from when the box is empty;
//   data-errors         a JSON script with the server's refusals ([{path, message}]);
//   data-raw-box        what to hide once the generated form is drawn.
// Without this script, or without the library, the text box posts the JSON itself.
'use strict';

function readJson(id) {
  const node = id ? document.getElementById(id) : null;
  if (!node) return null;
  try { return JSON.parse(node.textContent); } catch (e) { return null; }
}

function mountParams(holder) {
  const parts = holder.dataset;
  const raw = document.getElementById(parts.payloadField);
  const schema = readJson(parts.schema);
  if (!raw || !schema || typeof window.JSONEditor !== 'function') return;
  let start = readJson(parts.start) || {};
  if (raw.value.trim()) {
    try { start = JSON.parse(raw.value); } catch (e) { return; } // keep the text
  }
  // The server's refusals: shown at once (not only once a field was touched), each on its
  // field (their paths are the form's own: payload.<field>).
  const errors = readJson(parts.errors) || [];
  const editor = new window.JSONEditor(holder, {
    schema: schema,
    startval: start,
    theme: 'html',
    iconlib: null,
    disable_theme_rules: true,
    disable_edit_json: true,
    disable_properties: true,
    disable_collapse: true,
    show_errors: errors.length ? 'always' : 'interaction',
    form_name_root: 'payload',
    required_by_default: false,
    no_additional_properties: false,
  });
  editor.on('ready', () => {
    const box = document.getElementById(parts.rawBox);
    if (box) box.hidden = true;
    if (errors.length) editor.showValidationErrors(errors.map((e) => ({ path: e.path, property: 'server', message: e.message })));
  });
  const copy = () => { raw.value = JSON.stringify(editor.getValue()); };
  editor.on('change', copy);
  raw.form.addEventListener('submit', copy);
  // The editor's inputs are not fields of the form: keep them out of the post.
  raw.form.addEventListener('formdata', (event) => {
    for (const key of Array.from(event.formData.keys())) {
      if (key.startsWith('payload[')) event.formData.delete(key);
    }
  });
}

document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('[data-params-editor]').forEach(mountParams);
});
