// Form helpers: a submit handler that reports the server's field errors, labelled fields that
// show their error, and a list for errors that belong to no field.
import { useState } from 'preact/hooks';
import { html } from '../html.js';

// Wraps `action(values, form)`: values are the form's named fields as strings. Returns what a
// form needs: onSubmit, busy (disables the button) and errors ({field: message}).
export function useSubmit(action) {
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const onSubmit = async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    setBusy(true);
    setErrors({});
    try {
      await action(Object.fromEntries(new FormData(form)), form);
    } catch (error) {
      setErrors(error.errors ?? { request: error.message });
    } finally {
      setBusy(false);
    }
  };
  return { onSubmit, busy, errors };
}

let nextId = 0;

// A labelled input, or a select when `options` ([{value, label}]) is given; `error` shows below
// it and marks it invalid for assistive technology.
export function Field({ label, name, error, hint, options, ...input }) {
  const [id] = useState(() => `field-${++nextId}`);
  const described = error ? `${id}-error` : undefined;
  const invalid = error ? 'true' : undefined;
  return html`
    <div class="field">
      <label for=${id}>${label}</label>
      ${options
        ? html`<select id=${id} name=${name} aria-invalid=${invalid} aria-describedby=${described} ...${input}>
            ${options.map((o) => html`<option key=${o.value} value=${o.value}>${o.label}</option>`)}
          </select>`
        : html`<input id=${id} name=${name} aria-invalid=${invalid} aria-describedby=${described} ...${input} />`}
      ${hint && html`<small class="hint">${hint}</small>`}
      ${error && html`<small class="error" id=${described} role="alert">${error}</small>`}
    </div>`;
}

// Errors not shown beside a field: `fields` are the names the form shows itself.
export function FormErrors({ errors, fields = [] }) {
  const rest = Object.entries(errors).filter(([field]) => !fields.includes(field));
  if (rest.length === 0) {
    return null;
  }
  return html`<ul class="errors" role="alert">
    ${rest.map(([field, message]) => html`<li key=${field}>${field === 'request' ? '' : `${field}: `}${message}</li>`)}
  </ul>`;
}
