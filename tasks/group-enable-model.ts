export { enable as default } from "./model.js";
