export { register as default } from "./model.js";
