// Pages with plain API forms (/producer, calendar): submit as JSON, show field errors beside the fields.
import { bindButtons, bindForm } from "./json-forms.js";

document.querySelectorAll("form[data-api]").forEach((form) => bindForm(form));
bindButtons(document);
