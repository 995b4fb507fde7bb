export { retire as default } from "./model.js";
