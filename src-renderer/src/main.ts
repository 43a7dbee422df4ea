import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { openWebSession } from './api';
import './styles/base.css';

// Web mode: the library-files cookie first, so the first <img> already loads.
void openWebSession().finally(() => createApp(App).use(createPinia()).mount('#app'));
