// The job form's schedule editor (kind switch, cron builder) and its live preview from the
// server's engine (the parameters form is params.js's). Without this script the form still
// posts the fields.
'use strict';

function showKind(form) {
  const kind = (form.querySelector('input[name=schedule_kind]:checked') || {}).value || 'cron';
  ['cron', 'every', 'at'].forEach((k) => {
    form.querySelectorAll('.kind-' + k).forEach((n) => { n.hidden = k !== kind; });
  });
}

function cronOf(preset) {
  const [hour, minute] = (document.getElementById('b-time').value || '02:30').split(':').map(Number);
  const day = document.getElementById('b-day').value;
  const n = Number(document.getElementById('b-number').value || 0);
  switch (preset) {
    case 'daily': return `${minute} ${hour} * * *`;
    case 'weekdays': return `${minute} ${hour} * * 1-5`;
    case 'weekly': return `${minute} ${hour} * * ${day}`;
    case 'monthly': return `${minute} ${hour} ${Math.min(Math.max(n, 1), 31)} * *`;
    case 'hourly': return `${Math.min(n, 59)} * * * *`;
    case 'minutes': return `*/${Math.min(Math.max(n, 1), 59)} * * * *`;
    default: return null;
  }
}

function preview(form) {
  const box = document.getElementById('preview');
  const list = document.getElementById('preview-slots');
  const rules = document.getElementById('preview-rules');
  const params = new URLSearchParams();
  ['schedule_kind', 'cron', 'every', 'at', 'timezone', 'start_date', 'end_date'].forEach((name) => {
    const field = name === 'schedule_kind'
      ? form.querySelector('input[name=schedule_kind]:checked')
      : form.elements.namedItem(name);
    if (field && field.value) params.set(name, field.value);
  });
  fetch(box.dataset.url + '?' + params.toString(), { credentials: 'same-origin' })
    .then((r) => r.json())
    .then((data) => {
      list.replaceChildren();
      if (data.error) {
        rules.textContent = `No preview: ${data.error.field ? data.error.field + ': ' : ''}${data.error.message}`;
        rules.className = 'field-errors';
        return;
      }
      rules.className = 'hint';
      rules.textContent = data.rules.join(' · ') || '';
      data.slots.forEach((slot) => {
        const item = document.createElement('li');
        const time = document.createElement('time');
        time.dateTime = slot.instant;
        time.textContent = `${slot.local} (UTC${slot.offset}, ${data.zone})`;
        item.appendChild(time);
        if (slot.notes.length) {
          item.className = 'dst';
          const note = document.createElement('span');
          note.className = 'dst-note';
          note.textContent = ' ' + slot.notes.join('; ');
          item.appendChild(note);
        }
        list.appendChild(item);
      });
    })
    .catch(() => { rules.textContent = 'The preview is unavailable right now.'; });
}

document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('job-form');
  if (!form) return;
  showKind(form);
  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(() => preview(form), 250); };
  form.addEventListener('input', (event) => {
    if (event.target.name === 'schedule_kind') showKind(form);
    later();
  });
  form.addEventListener('change', (event) => {
    if (event.target.name === 'schedule_kind') showKind(form);
    later();
  });
  document.getElementById('b-apply').addEventListener('click', () => {
    const line = cronOf(document.getElementById('b-preset').value);
    if (!line) return;
    const cron = document.getElementById('f-cron');
    cron.value = line;
    form.querySelector('input[name=schedule_kind][value=cron]').checked = true;
    showKind(form);
    preview(form);
  });
  preview(form);
});
